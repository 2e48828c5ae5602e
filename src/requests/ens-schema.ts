/**
 * ENS CreateClusterNodePool (2017-11-10), every constraint of the API reference:
 * required fields, disk sizes of at least 20 GB in steps of 10, a key pair or a password,
 * Base64 user data, non-empty vSwitch and instance-type lists, and the disk categories.
 */
import { arr, ensNodepoolNameProblem, int, obj, type Schema, str } from './schema.js';

const ENS_SYSTEM_DISK_CATEGORIES = ['local_ssd', 'local_hdd', 'cloud_efficiency', 'cloud_ssd'] as const;
const diskSize = () => int({ min: 20, multipleOf: 10 });

export const ensCreateSchema: Schema = obj(
  {
    ClusterId: str({ required: true, maxLength: 64, pattern: /^[A-Za-z0-9-]+$/, patternHint: 'must be a cluster ID such as eck-xxxxxxxx' }),
    NodepoolInfo: obj({ Name: str({ required: true, maxLength: 128, problem: ensNodepoolNameProblem }) }, { required: true }),
    ScalingGroup: obj(
      {
        DesiredSize: int({ min: 0, max: 10_000 }),
        KeyPairName: str({ minLength: 1, maxLength: 128 }),
        VswitchIds: arr(str({ required: true, maxLength: 64 }), { required: true, minItems: 1, maxItems: 100 }),
        InstanceChargeType: str({ enum: ['PrePaid', 'PostPaid'] }),
        InstanceTypes: arr(str({ required: true, maxLength: 64 }), { required: true, minItems: 1, maxItems: 100 }),
        SystemDiskCategory: str({ enum: ENS_SYSTEM_DISK_CATEGORIES }),
        SystemDiskSize: diskSize(),
        ImageId: str({ required: true, maxLength: 128 }),
        DataDisks: arr(obj({ Category: str({ maxLength: 64 }), Size: diskSize() }), { maxItems: 16 }),
        Password: str({ minLength: 1, maxLength: 128 }),
      },
      {
        required: true,
        check: (sg, path, issues) => {
          if (sg.KeyPairName === undefined && sg.Password === undefined) {
            issues.push({ path: `${path}.KeyPairName`, message: 'either KeyPairName or Password must be given' });
          }
        },
      },
    ),
    KubernetesConfig: obj({
      PreUserData: str({ base64: true, maxLength: 65_536 }),
      UserData: str({ base64: true, maxLength: 65_536 }),
    }),
  },
  { required: true },
);

/** Where the ENS password sits in a create request. */
export const ENS_SECRET_PATHS = [['ScalingGroup', 'Password']] as const;
