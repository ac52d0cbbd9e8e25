"""``evaluator bench``: how much of the engine's speed the review pipeline keeps, in-process
(:mod:`.local`) or beside model servers (:mod:`.server`)."""
