"""Secrets by reference: the function's environment names them, a shim reads them."""
