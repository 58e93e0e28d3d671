"""Context builders: one module per manifests/ folder, one function per generated file.

Each function computes every name, label and value of one object in Python and returns a
`Manifest` (output path, template, context); the templates only place the values.
"""
