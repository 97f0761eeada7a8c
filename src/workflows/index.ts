// Entry point of the workflow bundle (workflowsPath): every workflow type the worker registers.
export { accountWorkflow } from './account/workflow';
export { connectionWorkflow } from './connection/workflow';
// Cookie connections now run connectionWorkflow; this type stays registered for runs started by earlier versions.
export { linkedinConnectWorkflow } from './linkedin-connect/workflow';
export { reconcileAccountsWorkflow, reconcileConfirmWorkflow } from './reconcile/workflow';
export { providerIncidentsWorkflow } from './provider-incidents/workflow';
