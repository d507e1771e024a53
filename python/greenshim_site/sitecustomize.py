"""greenshim's sitecustomize, on PYTHONPATH under ``greenshim record``: when
``torch`` is imported, turn on the ATen fallback (greenshim_aten.install:
only if native interception does not see this PyTorch, or
GREENSHIM_ATEN=on), then run the sitecustomize this one shadows, if any.
Does nothing without the recorder in the process or with GREENSHIM_ATEN=off."""
import os
import sys


def _chain():
    here = os.path.dirname(os.path.abspath(__file__))
    import importlib.machinery
    import importlib.util
    rest = [p for p in sys.path if os.path.abspath(p or ".") != here]
    spec = importlib.machinery.PathFinder.find_spec("sitecustomize", rest)
    if spec and spec.loader and os.path.dirname(os.path.abspath(spec.origin or "")) != here:
        mod = importlib.util.module_from_spec(spec)
        sys.modules["sitecustomize"] = mod
        spec.loader.exec_module(mod)


class _TorchWatcher:
    """A meta-path finder that only waits for torch's import to finish."""

    def find_spec(self, name, path=None, target=None):
        if name != "torch":
            return None
        sys.meta_path.remove(self)
        import importlib.util
        spec = importlib.util.find_spec(name)
        if spec is None or spec.loader is None:
            return spec
        exec_module = spec.loader.exec_module

        def exec_and_install(module):
            exec_module(module)
            try:
                import greenshim_aten
                greenshim_aten.install()
            except Exception:
                pass
        spec.loader.exec_module = exec_and_install
        return spec


def _recorder_here():
    try:
        import ctypes
        return hasattr(ctypes.CDLL(None), "greenshim_aten_gemm")
    except OSError:
        return False


if os.environ.get("GREENSHIM_ATEN", "auto") in ("auto", "on") and os.environ.get("GREENSHIM", "1") != "0" \
        and _recorder_here():
    sys.meta_path.insert(0, _TorchWatcher())
try:
    _chain()
except Exception:
    pass
