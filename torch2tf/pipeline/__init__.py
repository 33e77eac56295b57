"""Where convert and validate meet: the stages of a conversion, the ladder and its parity gate, localization."""
