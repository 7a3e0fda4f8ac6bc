"""CLI commands by feature; ``resonance.cli`` adds every module's ``commands``."""
