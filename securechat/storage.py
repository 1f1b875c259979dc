"""Static files: hashed names with far-future caching, and ES module imports rewritten to them."""

from whitenoise.storage import CompressedManifestStaticFilesStorage


class StaticFilesStorage(CompressedManifestStaticFilesStorage):
    # Rewrites `import … from "./x.js"` to the hashed name, so a page never mixes modules of two
    # releases (an unhashed name is cached for a minute; a hashed one for a year).
    support_js_module_import_aggregation = True
    # A module's hashed name depends on its imports' hashed names, settled one level per pass at worst; the
    # browser's modules import up to a dozen levels deep (ui → chat → roster → crypto), Django's default is 5.
    max_post_process_passes = 20
