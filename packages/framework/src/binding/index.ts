export { resolveBinding, preferredKind, bindingOverride, FALLBACK_CHAIN, type BindingQuery, type BindingDecision } from './binding-resolver';
