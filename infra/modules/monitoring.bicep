// Log Analytics workspace + workspace-based Application Insights. Local (instrumentation-key) ingestion is disabled:
// the Function App sends telemetry with its managed identity (APPLICATIONINSIGHTS_AUTHENTICATION_STRING), which needs
// the Monitoring Metrics Publisher role granted below.

param logAnalyticsName string
param applicationInsightsName string
param location string
param tags object = {}

@description('Principal id of the managed identity that publishes telemetry.')
param identityPrincipalId string

@description('Days of log retention in the workspace.')
@minValue(30)
@maxValue(730)
param retentionInDays int = 30

var monitoringMetricsPublisher = '3913510d-42f4-4e42-8a64-420c390055eb'

resource workspace 'Microsoft.OperationalInsights/workspaces@2023-09-01' = {
  name: logAnalyticsName
  location: location
  tags: tags
  properties: {
    sku: {
      name: 'PerGB2018'
    }
    retentionInDays: retentionInDays
  }
}

resource appInsights 'Microsoft.Insights/components@2020-02-02' = {
  name: applicationInsightsName
  location: location
  tags: tags
  kind: 'web'
  properties: {
    Application_Type: 'web'
    WorkspaceResourceId: workspace.id
    DisableLocalAuth: true
  }
}

resource publisherRole 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(appInsights.id, identityPrincipalId, monitoringMetricsPublisher)
  scope: appInsights
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', monitoringMetricsPublisher)
    principalId: identityPrincipalId
    principalType: 'ServicePrincipal'
  }
}

output applicationInsightsName string = appInsights.name
// The connection string holds no secret once local auth is disabled: ingestion needs an Entra token.
output connectionString string = appInsights.properties.ConnectionString
