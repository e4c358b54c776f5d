print("custom VSC example: not yet written")
