"""Loading and listing packs (the plugin host, ``yota.packs.host``), under the name users call:
``yota.plugins.reload()`` after changing ``YOTA_DISABLE_PLUGINS``."""
from .packs.host import (CORE_NAME, ENTRY_POINT_GROUP, PLUGINS, PluginInfo, ensure_loaded,
                         plugin_of, register, reload)

__all__ = ["CORE_NAME", "ENTRY_POINT_GROUP", "PLUGINS", "PluginInfo", "ensure_loaded",
           "plugin_of", "register", "reload"]
