"""The lesson models, one module each, imported by module (``from pt_helpers.models.vit import ViT``).

- :mod:`.mlp` - ``MLP`` (notebooks/04_mlp.ipynb); :mod:`.cnn` - ``FashionCNN`` (05_cnn);
  :mod:`.unet` - ``UNet`` (07_unet); :mod:`.vit` - ``ViT`` and :mod:`.swin` - ``SwinClassifier`` (08_vit_swin).
- :mod:`.attention` - ``multi_head_attention``, the one attention function ViT and Swin call.
- :mod:`.config` - the configuration convention every model follows: a frozen dataclass ``XConfig``
  beside each model ``X``; ``X(**fields)`` or ``X(config)``; ``model.cfg`` and its dict ``model.config``.
"""

__all__: list[str] = []
