"""kopf handlers only: parse, delegate to `reconcile`, map outcomes to kopf. See `runtime.py`."""
