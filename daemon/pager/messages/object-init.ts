/**
 * memory_object_init(object, control, name, page_size): the kernel maps the
 * object. Save the ports and answer memory_object_ready with the pager's
 * attributes. A second init while one incarnation is live is a kernel race
 * ("dup init"): logged and ignored, as libpager does.
 */
import type { MemoryObjectInit, MemoryObjectReady } from '../../../kernel/index.js';
import type { Pager } from '../pager.js';

export function objectInit(pager: Pager, msg: MemoryObjectInit): void {
  if (pager.state !== 'notinit') {
    pager.requests.log(`pager ${pager.label}: dup init (control ${msg.control}, have ${pager.control})`);
    // The rights came with the message: give them back.
    pager.space.deallocate(msg.control);
    pager.space.deallocate(msg.name);
    return;
  }
  pager.control = msg.control;
  pager.name = msg.name;
  pager.pageSize = msg.pageSize;
  pager.state = 'normal';
  pager.send<MemoryObjectReady>({
    id: 'memory_object_ready',
    dest: pager.control,
    mayCache: pager.mayCache,
    copyStrategy: pager.copyStrategy,
  });
}
