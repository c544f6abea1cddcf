"""Files a user keeps: atomic writes and the safetensors format (NumPy only)."""
from .atomic import write_atomically
from .safetensors import SafetensorsError, load_safetensors, save_safetensors, safetensors_bytes

__all__ = ["SafetensorsError", "load_safetensors", "safetensors_bytes", "save_safetensors",
           "write_atomically"]
