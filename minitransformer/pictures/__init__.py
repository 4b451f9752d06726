"""Pictures of what a model does (matplotlib, the ``plot`` extra; only ``plotting`` needs it).

* ``attention_maps.py``  -- :func:`record_attention`: capture every attention map of a forward pass;
* ``attention_views.py`` -- a trained core model + one input -> labelled attention maps to draw;
* ``plotting.py``        -- :func:`plot_attention` heatmaps and :func:`plot_training_curves`.
"""
