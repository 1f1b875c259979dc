"""Static files: hashed names with far-future caching, and ES module imports rewritten to them."""

from whitenoise.storage import CompressedManifestStaticFilesStorage


class StaticFilesStorage(CompressedManifestStaticFilesStorage):
    # Rewrites `import … from "./x.js"` to the hashed name, so a page never mixes modules of two
    # releases (an unhashed name is cached for a minute; a hashed one for a year).
    support_js_module_import_aggregation = True
