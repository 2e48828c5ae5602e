import type { ChannelConfig } from '../../config.js';
import type { Channel } from './channel.js';
import { DingTalkChannel, FeishuChannel, SlackChannel, WeComChannel } from './chat.js';
import { ConsoleChannel, WebhookChannel } from './webhook.js';

export * from './channel.js';

export function createChannel(config: ChannelConfig, options: { timeoutMs: number; externalUrl?: string; write?: (line: string) => void }): Channel {
  switch (config.type) {
    case 'dingtalk':
      return new DingTalkChannel(config, options);
    case 'feishu':
      return new FeishuChannel(config, options);
    case 'wecom':
      return new WeComChannel(config, options);
    case 'slack':
      return new SlackChannel(config, options);
    case 'webhook':
      return new WebhookChannel(config, options);
    case 'console':
      return new ConsoleChannel(config, options.write ?? ((line) => process.stdout.write(`${line}\n`)));
  }
}
