-- /find: the words of every record in one text (title, place, people, agenda, content,
-- resolutions), kept by triggers in the same transaction as the record; a deleted record
-- leaves it. A search reads the branch's own records (a few hundred) and looks for the words in
-- this text. An FTS5 trigram index was measured for this and dropped: a phrase's postings span
-- every branch, so matching one branch's records cost 100 ms among 6,300 records and grows with
-- the whole database (benchmarks/find_path.py).
CREATE TABLE meeting_words (
    meeting_id INTEGER PRIMARY KEY REFERENCES meetings(id) ON DELETE CASCADE,
    words TEXT NOT NULL
);

INSERT INTO meeting_words (meeting_id, words)
SELECT id, title
    || char(10) || place
    || char(10) || host
    || char(10) || recorder
    || char(10) || speaker
    || char(10) || counterpart
    || char(10) || ifnull((SELECT group_concat(value, char(10)) FROM json_each(agenda)), '')
    || char(10) || content
    || char(10) || resolutions
FROM meetings WHERE deleted_at IS NULL;

CREATE TRIGGER meeting_words_insert AFTER INSERT ON meetings WHEN NEW.deleted_at IS NULL
BEGIN
    INSERT INTO meeting_words (meeting_id, words)
    VALUES (NEW.id, NEW.title
    || char(10) || NEW.place
    || char(10) || NEW.host
    || char(10) || NEW.recorder
    || char(10) || NEW.speaker
    || char(10) || NEW.counterpart
    || char(10) || ifnull((SELECT group_concat(value, char(10)) FROM json_each(NEW.agenda)), '')
    || char(10) || NEW.content
    || char(10) || NEW.resolutions);
END;

CREATE TRIGGER meeting_words_update AFTER UPDATE ON meetings
BEGIN
    DELETE FROM meeting_words WHERE meeting_id = OLD.id;
    INSERT INTO meeting_words (meeting_id, words)
    SELECT NEW.id, NEW.title
    || char(10) || NEW.place
    || char(10) || NEW.host
    || char(10) || NEW.recorder
    || char(10) || NEW.speaker
    || char(10) || NEW.counterpart
    || char(10) || ifnull((SELECT group_concat(value, char(10)) FROM json_each(NEW.agenda)), '')
    || char(10) || NEW.content
    || char(10) || NEW.resolutions
    WHERE NEW.deleted_at IS NULL;
END;

CREATE TRIGGER meeting_words_delete AFTER DELETE ON meetings
BEGIN
    DELETE FROM meeting_words WHERE meeting_id = OLD.id;
END;
