// Key Vault in RBAC mode for the app's secrets. The Function App reads them through Key Vault references
// (@Microsoft.KeyVault(SecretUri=...)) resolved with its user-assigned identity, which gets "Key Vault Secrets User"
// on this vault only. Secrets: `api-keys` (API_KEYS), `openai-api-key` (OPENAI_API_KEY, when the upstream is OpenAI);
// the redis module adds `redis-url` (REDIS_URL). A secret parameter left empty leaves the stored secret untouched, so a
// redeploy (e.g. from CI) needs no secret, and keys can be rotated in Key Vault directly. The secret URIs below are
// versionless and fixed, whether or not this deployment wrote the secret.

param name string
param location string
param tags object = {}

@description('Principal id of the Function App\'s managed identity.')
param identityPrincipalId string

@secure()
@description('Value of API_KEYS: comma-separated client keys, each \'key\' or \'tenant:key\'. Empty: keep the stored secret.')
param apiKeys string = ''

@secure()
@description('OpenAI API key. Empty: keep the stored secret.')
param openAiApiKey string = ''

@description('Enable purge protection. Irreversible, and it keeps the vault name reserved for the retention period after `azd down`.')
param purgeProtection bool = false

var secretsUser = '4633458b-17de-408a-b874-0445c86b69e6'

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' = {
  //checkov:skip=CKV_AZURE_109: No VNet in this template: the Function App resolves Key Vault references over the public endpoint; access is RBAC-only.
  //checkov:skip=CKV_AZURE_189: Same as CKV_AZURE_109.
  //checkov:skip=CKV_AZURE_110: Purge protection is a parameter (keyVaultPurgeProtection), off by default so `azd down --purge` can remove the vault; turn it on for production.
  //checkov:skip=CKV_AZURE_42: Soft delete is on (7 days); full recoverability also needs purge protection, see CKV_AZURE_110.
  name: name
  location: location
  tags: tags
  properties: {
    tenantId: subscription().tenantId
    sku: {
      family: 'A'
      name: 'standard'
    }
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: 7
    enablePurgeProtection: purgeProtection ? true : null
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      defaultAction: 'Allow'
      bypass: 'AzureServices'
    }
  }
}

resource secretsUserRole 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(vault.id, identityPrincipalId, secretsUser)
  scope: vault
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', secretsUser)
    principalId: identityPrincipalId
    principalType: 'ServicePrincipal'
  }
}

resource apiKeysSecret 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = if (!empty(apiKeys)) {
  //checkov:skip=CKV_AZURE_114: False positive: contentType is set below (checkov misreads conditional resources).
  //checkov:skip=CKV_AZURE_41: The app reads this through a Key Vault reference; an expiry date would silently lock every client out. Rotate by redeploying.
  parent: vault
  name: 'api-keys'
  properties: {
    value: apiKeys
    contentType: 'text/plain'
  }
}

resource openAiKeySecret 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = if (!empty(openAiApiKey)) {
  //checkov:skip=CKV_AZURE_41: The key's lifetime is OpenAI's; an expiry date here would only break the Key Vault reference.
  //checkov:skip=CKV_AZURE_114: False positive: contentType is set below (checkov misreads conditional resources).
  parent: vault
  name: 'openai-api-key'
  properties: {
    value: openAiApiKey
    contentType: 'text/plain'
  }
}

output name string = vault.name
output uri string = vault.properties.vaultUri
// Versionless secret URIs: the app picks up a rotated secret without a redeploy. vaultUri ends with '/'.
output apiKeysSecretUri string = '${vault.properties.vaultUri}secrets/api-keys'
output openAiApiKeySecretUri string = '${vault.properties.vaultUri}secrets/openai-api-key'
