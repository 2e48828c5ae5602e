/**
 * What the emulated regions offer, for the pre-flight checks of a dry run: vSwitches, the
 * instance types a region sells and its system-disk categories. The default world is
 * permissive, so that any example request passes: a vSwitch nobody registered exists in
 * whichever region it is asked about, and a region without a catalog of its own offers the
 * default lists below. A test or a scenario registers a vSwitch in one region (then it is in
 * that region alone) or gives a region its own offers, to see a check fail.
 *
 * The default lists hold names the references use: ENS `ens.sn1.*` specs (the ENS
 * CreateClusterNodePool and DescribeAvailableResource examples name ens.sn1.small and
 * ens.sn1.stiny) and the four ENS disk categories of DescribeCloudDiskTypes; ECS types the
 * ACK and ECS references name in examples, and the system-disk categories of ECS
 * DescribeAvailableResource's SystemDiskCategory parameter.
 */
import type { Provider } from '../src/cloud/nodepool.js';

export interface VSwitch {
  id: string;
  provider: Provider;
  regionId: string;
  zoneId: string;
}

export interface Offers {
  instanceTypes: string[];
  diskCategories: string[];
}

const DEFAULT_OFFERS: Record<Provider, Offers> = {
  ens: {
    instanceTypes: ['ens.sn1.tiny', 'ens.sn1.stiny', 'ens.sn1.small', 'ens.sn1.medium', 'ens.sn1.large', 'ens.sn1.xlarge'],
    diskCategories: ['cloud_efficiency', 'cloud_ssd', 'local_hdd', 'local_ssd'],
  },
  ack: {
    instanceTypes: ['ecs.g6.large', 'ecs.g7.large', 'ecs.g7.xlarge', 'ecs.c7.large', 'ecs.n4.large', 'ecs.n4.xlarge'],
    diskCategories: ['cloud_efficiency', 'cloud_ssd', 'cloud_essd', 'cloud_auto'],
  },
};

export class Catalog {
  readonly vswitches = new Map<string, VSwitch>();
  private readonly offers = new Map<string, Offers>();

  addVSwitch(v: Omit<VSwitch, 'zoneId'> & { zoneId?: string }): VSwitch {
    const vsw = { ...v, zoneId: v.zoneId ?? `${v.regionId}-a` };
    this.vswitches.set(v.id, vsw);
    return vsw;
  }

  /** The vSwitch as a region's listing shows it: a registered one only in its own region, any other in the region asked. */
  vswitchIn(provider: Provider, id: string, regionId: string): VSwitch | undefined {
    const known = this.vswitches.get(id);
    if (known) return known.provider === provider && known.regionId === regionId ? known : undefined;
    return { id, provider, regionId, zoneId: `${regionId}-a` };
  }

  setOffers(provider: Provider, regionId: string, offers: Partial<Offers>): Offers {
    const merged = { ...this.offersIn(provider, regionId), ...offers };
    this.offers.set(`${provider}/${regionId}`, merged);
    return merged;
  }

  offersIn(provider: Provider, regionId: string): Offers {
    return this.offers.get(`${provider}/${regionId}`) ?? DEFAULT_OFFERS[provider];
  }

  /** Regions with a catalog of their own. */
  regions(provider: Provider): string[] {
    return [...this.offers.keys()].filter((k) => k.startsWith(`${provider}/`)).map((k) => k.slice(provider.length + 1));
  }

  view(): unknown {
    return { vswitches: [...this.vswitches.values()], offers: Object.fromEntries(this.offers) };
  }

  reset(): void {
    this.vswitches.clear();
    this.offers.clear();
  }
}
