"""PyTorch twins of evornn networks (torch is optional: imported only from here)."""
