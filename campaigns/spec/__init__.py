"""The campaigns app's reading of a rule spec: paths, plain-language text, diffs, flow, catalog.

Nothing here evaluates rules; that is ``realtime.engine``. These helpers turn a spec into words
and pictures for the designer and apply the designer's edits to it by JSON path.
"""
