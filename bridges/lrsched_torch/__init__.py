"""lrsched_torch: drive PyTorch optimizers with lrsched schedules (see DESIGN section 6)."""
