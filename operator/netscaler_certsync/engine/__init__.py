"""The appliance sync engine: gather appliance state, plan (pure), apply, report. No Kubernetes."""
