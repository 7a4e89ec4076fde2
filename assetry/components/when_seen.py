"""A box that tells the server when it scrolls into view: the library's endless scroll.

The browser's IntersectionObserver watches the box; each time it comes within `margin` of
the window it fires `on_seen`, and again after `again` changes while it is still in view
(a new page that did not push it out of sight: a tall window asks for the next one).
"""

from __future__ import annotations

import reflex as rx
from reflex_base.event import EventHandler, no_args_event_spec
from reflex_base.utils.imports import ImportVar

_CODE = """
function WhenSeen({ children, onSeen, margin, again, ...rest }) {
  const box = useRef(null);
  const seen = useRef(onSeen);
  seen.current = onSeen;
  useEffect(() => {
    const watcher = new IntersectionObserver(
      (entries) => { if (entries.some((entry) => entry.isIntersecting)) seen.current?.(); },
      { rootMargin: margin },
    );
    watcher.observe(box.current);
    return () => watcher.disconnect();
  }, [margin, again]);
  return createElement("div", { ref: box, ...rest }, children);
}
"""


class WhenSeen(rx.Component):
    """Its children in a box that fires `on_seen` when it comes into view."""

    tag = "WhenSeen"
    margin: rx.Var[str]
    again: rx.Var[int]
    on_seen: EventHandler[no_args_event_spec]

    def add_imports(self) -> dict:
        return {
            "react": [ImportVar(tag="useRef"), ImportVar(tag="useEffect"), ImportVar(tag="createElement")]
        }

    def add_custom_code(self) -> list[str]:
        return [_CODE]


def when_seen(
    *children: rx.Component, on_seen, again: rx.Var[int], margin: str = "600px", **props
) -> rx.Component:
    """`children` in a box that fires `on_seen` once it is within `margin` of the window."""
    return WhenSeen.create(*children, on_seen=on_seen, again=again, margin=margin, **props)
