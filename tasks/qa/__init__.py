"""Customer-service QA head: intent routing, out-of-scope hand-off, question matching, generated
replies and semi-supervised learning, in English and Chinese.

Modules (one concept each): :mod:`.data` (CSV/pair/FAQ loaders, stratified split),
:mod:`.faq_builtin` (the built-in bilingual shop FAQ), :mod:`.sentence` (the shared sentence
encoder), :mod:`.pretrain` (masked-token pretraining), :mod:`.intent` (the classifier),
:mod:`.oos` (the hand-off threshold), :mod:`.router` (tokenizer + classifier + threshold +
answers), :mod:`.matching` (bi-encoder question matching and FAQ retrieval), :mod:`.replies`
(encoder–decoder replies with beam search), :mod:`.semi` (few labels + self-training),
:mod:`.bundle` (the model directory), :mod:`.baselines` (a TF-IDF nearest-centroid intent baseline
in NumPy) and :mod:`.cli` (``minitransformer qa ...``).
"""
