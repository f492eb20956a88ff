"""The interface: Differentiator and Derivative, kinds, arguments and pytrees, the boundary
contract, budgets and cost estimates, the registry of methods."""
