"""Firmware and update validation: the register of firmware images (hash, signature,
hard-coded vendor-cloud names) and their approvals after testing.

    from vendorwatch.firmware import add_image, approve_image, list_images
"""

from vendorwatch.firmware.images import (
    SignatureCheck,
    add_image,
    approve_image,
    find_image,
    list_images,
)

__all__ = ["SignatureCheck", "add_image", "approve_image", "find_image", "list_images"]
