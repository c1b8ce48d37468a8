"""The signing-keys adapter: an Entra ID tenant's JSON Web Key Set over HTTPS (httpx), cached."""
