// IR target.
