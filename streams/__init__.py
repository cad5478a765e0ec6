"""Rolling state: pure folds (``streams.folds``) and the Faust adapters around them."""
