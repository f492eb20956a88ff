"""difflab's own automatic differentiation: one rule table, forward and reverse engines."""
