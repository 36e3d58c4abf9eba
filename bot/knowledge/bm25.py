"""BM25 (Okapi, the ATIRE idf floor of rank-bm25) with the per-term weights computed once.

rank-bm25 rebuilds a frequency vector for every query term by walking every document in Python
(41% of the /ask path). Here each term's weights over the documents holding it are computed when
the index is built — with the same float operations in the same order, so the scores are
bit-for-bit those of ``rank_bm25.BM25Okapi`` (tests/test_knowledge.py compares the rankings over
the whole labelled set) — and a query only adds a few short arrays.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

K1, B, EPSILON = 1.5, 0.75, 0.25


class Bm25:
    """Scores of a query (a list of terms) against every document of a tokenized corpus."""

    def __init__(self, corpus: Sequence[Sequence[str]]) -> None:
        self.size = len(corpus)
        lengths = np.array([len(document) for document in corpus])
        average = sum(len(document) for document in corpus) / self.size
        # Postings in first-seen order: the idf average sums in that order, as rank-bm25 does.
        postings: dict[str, tuple[list[int], list[int]]] = {}
        for i, document in enumerate(corpus):
            counts: dict[str, int] = {}
            for word in document:
                counts[word] = counts.get(word, 0) + 1
            for word, count in counts.items():
                docs, freqs = postings.setdefault(word, ([], []))
                docs.append(i)
                freqs.append(count)
        idf: dict[str, float] = {}
        negative = []
        for word, (docs, _) in postings.items():
            value = math.log(self.size - len(docs) + 0.5) - math.log(len(docs) + 0.5)
            idf[word] = value
            if value < 0:
                negative.append(word)
        floor = EPSILON * (sum(idf.values()) / len(idf)) if idf else 0.0
        for word in negative:
            idf[word] = floor
        norm = K1 * (1 - B + B * lengths / average)
        self.weights: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        for word, (docs, freqs) in postings.items():
            where = np.array(docs)
            freq = np.array(freqs)
            weight = (idf[word] or 0) * (freq * (K1 + 1) / (freq + norm[where]))
            self.weights[word] = (where, weight)

    def scores(self, query: Sequence[str]) -> np.ndarray:
        """The score of every document for the query (a term counts each time it is given)."""
        total = np.zeros(self.size)
        for term in query:
            found = self.weights.get(term)
            if found is not None:
                total[found[0]] += found[1]
        return total
