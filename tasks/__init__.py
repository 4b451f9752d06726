"""Task heads built on the minitransformer core (recommendation, QA, forecasting, risk)."""
