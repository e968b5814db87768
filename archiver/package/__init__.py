"""Making packages: one report -> one package (build), the store they enter, and recording an
event in an existing package."""
