from bot.knowledge import load

print(f"{len(load())} entries OK")
