/** The API reference's example requests, used by the start banner and the tests. */

/** ENS CreateClusterNodePool parameters as in the reference's example column. */
export function ensReferenceRequest(clusterId: string, name: string, scalingGroup: Record<string, unknown> = {}) {
  return {
    ClusterId: clusterId,
    NodepoolInfo: { Name: name },
    ScalingGroup: {
      DesiredSize: 3,
      KeyPairName: 'key-pair-name',
      VswitchIds: ['vsw-58eu2p6v64qw8ihhit1wz7wgv'],
      InstanceChargeType: 'PostPaid',
      InstanceTypes: ['ens.sn1.small'],
      SystemDiskCategory: 'cloud_efficiency',
      SystemDiskSize: 80,
      ImageId: 'm-6734fzvcwcv2o8jj201cpa7ox',
      DataDisks: [{ Category: 'cloud_efficiency', Size: 80 }],
      ...scalingGroup,
    },
    KubernetesConfig: { PreUserData: 'ZWNobyBvawo=', UserData: 'ZWNobyBvawo=' },
  };
}
