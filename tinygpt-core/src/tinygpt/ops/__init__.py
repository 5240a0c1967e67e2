"""The ops behind Tensor, one family per file.

Primitives (each a `Function` with forward and backward): `elementwise`, `reduce`,
`movement`, `matmul`. Tensor-level functions built on them: `math`, `reductions`, `shape`,
`indexing`.
"""
