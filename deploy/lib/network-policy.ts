import type { INetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy';
import type { IIoK8sApiNetworkingV1NetworkPolicyPeer as Peer } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicyPeer';
import type { IIoK8sApiNetworkingV1NetworkPolicyPort as PolicyPort } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicyPort';
import type { K8sObject } from './kustomize.js';

type LabelSelector = NonNullable<INetworkPolicy['spec']>['podSelector'];

/** A pod as NetworkPolicies see it; `ip` marks a peer outside the cluster. */
export interface Endpoint {
  namespace: string;
  namespaceLabels: Record<string, string>;
  labels: Record<string, string>;
  ip?: boolean;
}

/** Does this selector select these labels? (matchLabels and the four matchExpressions operators) */
export function selects(selector: LabelSelector | undefined, labels: Record<string, string>): boolean {
  if (!selector) return false;
  for (const [key, value] of Object.entries(selector.matchLabels ?? {})) if (labels[key] !== value) return false;
  for (const { key, operator, values = [] } of selector.matchExpressions ?? []) {
    const has = key in labels;
    const value = labels[key];
    if (operator === 'In' && !(has && values.includes(value as string))) return false;
    if (operator === 'NotIn' && has && values.includes(value as string)) return false;
    if (operator === 'Exists' && !has) return false;
    if (operator === 'DoesNotExist' && has) return false;
  }
  return true;
}

function peerMatches(peer: Peer, policyNamespace: string, other: Endpoint): boolean {
  if (peer.ipBlock) return other.ip === true;
  if (other.ip) return false;
  const namespaceOk = peer.namespaceSelector ? selects(peer.namespaceSelector, other.namespaceLabels) : other.namespace === policyNamespace;
  const podOk = peer.podSelector ? selects(peer.podSelector, other.labels) : true;
  return namespaceOk && podOk;
}

function portMatches(ports: PolicyPort[] | undefined, port: number, protocol: string): boolean {
  if (!ports || ports.length === 0) return true;
  return ports.some(
    (p) =>
      (p.protocol ?? 'TCP') === protocol &&
      (p.port === undefined ||
        p.port === port ||
        (p.endPort !== undefined && typeof p.port === 'number' && port >= p.port && port <= p.endPort)),
  );
}

function policyTypes(policy: INetworkPolicy): string[] {
  return policy.spec?.policyTypes ?? (policy.spec?.egress ? ['Ingress', 'Egress'] : ['Ingress']);
}

/**
 * Whether the policies let `from` open a connection to `to` on `port`: egress must be allowed on
 * the sending side (when a policy selects it) and ingress on the receiving side, as Kubernetes
 * NetworkPolicy semantics define (policies are additive allow-lists).
 */
export function allows(objects: K8sObject[], from: Endpoint, to: Endpoint, port: number, protocol = 'TCP'): boolean {
  const policies = objects.filter((o): o is K8sObject & INetworkPolicy => o.kind === 'NetworkPolicy');
  const side = (direction: 'Ingress' | 'Egress', self: Endpoint, other: Endpoint) => {
    if (self.ip) return true; // outside the cluster: no policy applies
    const applying = policies.filter(
      (p) =>
        (p.metadata.namespace ?? '') === self.namespace &&
        policyTypes(p).includes(direction) &&
        selects(p.spec?.podSelector ?? {}, self.labels),
    );
    if (applying.length === 0) return true;
    return applying.some((policy) => {
      const rules = direction === 'Ingress' ? (policy.spec?.ingress ?? []) : (policy.spec?.egress ?? []);
      return rules.some((rule) => {
        const peers = direction === 'Ingress' ? (rule as { from?: Peer[] }).from : (rule as { to?: Peer[] }).to;
        const peerOk = !peers || peers.length === 0 || peers.some((peer) => peerMatches(peer, self.namespace, other));
        return peerOk && portMatches(rule.ports, port, protocol);
      });
    });
  };
  return side('Egress', from, to) && side('Ingress', to, from);
}
