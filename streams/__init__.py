"""The engine: the Faust app, the folding agent around ``processing.Batch``, the worker."""
