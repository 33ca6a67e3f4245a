"""The market's events, one module each, in the order of a month's market phase:
offers -> valuation -> matching -> diligence -> terms; contracts run on deals in force."""
