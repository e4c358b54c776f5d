// JIT target.
