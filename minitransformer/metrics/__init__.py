"""Evaluation metrics written by hand (tested against scikit-learn / torchmetrics as oracles).

* ``ranking``: HR@K, NDCG@K, MRR for recommendation.
* ``classification``: accuracy, macro-F1, ROC-AUC, AUPRC, threshold metrics for QA and risk.
* ``forecasting``: MAE, RMSE, MASE, sMAPE, OWA, pinball loss.
"""
