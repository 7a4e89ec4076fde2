"""The notifications' toaster, whose code (sonner, ~8 KB of brotli JS) is fetched with the
first notification instead of before every page's first paint.

Reflex's `rx.toast.provider` imports sonner in the app's root, so each page fetches it with
the scripts it needs to paint, on a phone's slow network too, though most visits show no
notification. `lazy_toaster` renders nothing until a notification is asked for (`rx.toast.*`
calls `refs['__toast']`): that call loads sonner, mounts its Toaster, then shows what was asked
(calls made while it loads wait in order). The "Notifications" region appears with the first
notification.
"""

from __future__ import annotations

import reflex as rx
from reflex_base.utils.imports import ImportVar

# The version Reflex's own toaster pins (reflex_components_sonner), so both agree.
SONNER = "sonner@2.0.8"

_CODE = """
const toastCalls = [];
let sonner = null;
let sonnerLoading = null;
let showToaster = null;

function loadSonner() {
  sonnerLoading ??= import("sonner").then((module) => {
    sonner = module;
    showToaster?.();
  });
  return sonnerLoading;
}

// Reflex's toast events call refs['__toast'](...) and refs['__toast'].success(...), .dismiss(...).
function callToast(level, args) {
  if (toastCalls.ready) {
    return level === null ? sonner.toast(...args) : sonner.toast[level](...args);
  }
  // Nothing is shown before sonner is there: Reflex's connection overlay dismisses its
  // notification on every page load, which needs no sonner.
  if (level === "dismiss" && toastCalls.length === 0) return undefined;
  toastCalls.push([level, args]);
  loadSonner();
  return undefined;
}

// Only sonner's own calls: anything else that looks the object over (a `then`, a `toJSON`)
// finds nothing there, and loads nothing.
const toastLevels = ["success", "info", "warning", "error", "loading", "message", "promise", "custom", "dismiss", "getHistory", "getToasts"];
refs['__toast'] = new Proxy(function toast() {}, {
  apply: (_target, _this, args) => callToast(null, args),
  get: (_target, level) => (toastLevels.includes(level) ? (...args) => callToast(level, args) : undefined),
});

function LazyToaster(props) {
  const [toaster, setToaster] = useState(null);
  const { resolvedColorMode } = useContext(ColorModeContext);
  useEffect(() => {
    showToaster = () => setToaster(() => sonner.Toaster);
    if (sonner) showToaster();
    return () => { showToaster = null; };
  }, []);
  useEffect(() => {
    // The Toaster's own effects (its subscription to new toasts) ran before this one.
    if (!toaster) return;
    toastCalls.ready = true;
    for (const [level, args] of toastCalls.splice(0)) callToast(level, args);
  }, [toaster]);
  return toaster ? createElement(toaster, { ...props, theme: resolvedColorMode }) : null;
}
"""


class LazyToaster(rx.Component):
    """Sonner's Toaster, loaded and mounted when the first notification is asked for."""

    tag = "LazyToaster"
    lib_dependencies: list[str] = [SONNER]  # noqa: RUF012 (Reflex reads it from the class)

    position: rx.Var[str]
    close_button: rx.Var[bool]
    expand: rx.Var[bool]
    rich_colors: rx.Var[bool]

    def add_imports(self) -> dict:
        return {
            "react": [
                ImportVar(tag="useContext"),
                ImportVar(tag="useEffect"),
                ImportVar(tag="useState"),
                ImportVar(tag="createElement"),
            ],
            "$/utils/state": [ImportVar(tag="refs")],
            "$/utils/context": [ImportVar(tag="ColorModeContext")],
        }

    def add_custom_code(self) -> list[str]:
        return [_CODE]


def lazy_toaster(position: str) -> rx.Component:
    """The app's toaster at `position`, with the settings of Reflex's own (`rx.toast.provider`)."""
    return LazyToaster.create(position=position, close_button=False, expand=True, rich_colors=True)
