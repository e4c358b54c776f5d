// Eval target.
