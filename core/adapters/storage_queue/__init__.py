"""Background runs on an Azure Storage queue (the Functions host's own storage account)."""
