"""Reference pages of the documentation, generated from the code so they cannot drift from it.

Each module renders one page's generated part as Markdown: the command line
(:mod:`.cli`), the HTTP API (:mod:`.http_api`), the settings (:mod:`.settings`), the outbound
events (:mod:`.events`) and the job catalogue (:mod:`.jobs`). :func:`.pages.render` is what the
documentation build calls (docs/hooks/reference.py).
"""
