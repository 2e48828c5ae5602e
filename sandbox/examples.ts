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

/** An ACK CreateClusterNodePool body with the fields the API reference's example fills, signed in with a key pair. */
export function ackReferenceRequest(name: string, scalingGroup: Record<string, unknown> = {}) {
  return {
    nodepool_info: { name, type: 'ess' },
    scaling_group: {
      vswitch_ids: ['vsw-2ze3ds0mdip0hdz8i0001'],
      instance_types: ['ecs.g7.large'],
      instance_charge_type: 'PostPaid',
      system_disk_category: 'cloud_essd',
      system_disk_size: 120,
      desired_size: 2,
      key_pair: 'ops-keypair',
      ...scalingGroup,
    },
    kubernetes_config: { runtime: 'containerd', runtime_version: '1.6.38' },
  };
}
