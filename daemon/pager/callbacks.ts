/**
 * What a pager writer supplies (libpager's "the user must define"): how to
 * read, write and unlock pages of one memory object. Offsets and lengths are
 * bytes, page aligned; the page size is the kernel's, known from init.
 * Errors: throw a PagerError (EIO, ENOSPC, EDQUOT); anything else counts as
 * EIO.
 */

export interface PageRead {
  /**
   * Every page of the run is zeros and `into` was not filled: the pager
   * answers memory_object_data_unavailable and the kernel zero-fills the
   * pages itself (a file's pages past its end), sending no data.
   */
  zeros?: boolean;
  /**
   * Only the first `dataPages` pages of the run hold data; the rest lie past
   * the object's data (a file's end). Those are answered with
   * memory_object_data_unavailable: the kernel zero-fills them when they are
   * faulted on and drops them when they were only read ahead. With
   * writeLock, the locks are those of the first `dataPages` pages.
   */
  dataPages?: number;
  /**
   * Supply the pages write-locked, so that the first write to each goes
   * through unlockPage (holes that need allocating, ext2fs style): true for
   * all of them, or one flag per page.
   */
  writeLock?: boolean | readonly boolean[];
}

export interface PagerCallbacks {
  /**
   * pager_read_page, for a run of pages: fill `into` (whole pages) with the
   * data at `offset`. Clustered requests ask for many pages at once.
   * `writing`: the fault that asked wants write access (a pager that
   * write-locks pages it must allocate supplies pages past the data's end
   * only then, locked, and leaves them to zero-fill for a read).
   */
  readPage(offset: number, into: Buffer, writing?: boolean): Promise<PageRead | void>;
  /** pager_write_page: write one page durably enough for the store's sync to finish the job. */
  writePage(offset: number, data: Buffer): Promise<void>;
  /**
   * pager_write_pages (optional bulk write): write a run of pages; return
   * the bytes written (a multiple of the page size; a short count is fine,
   * the rest goes page by page through writePage).
   */
  writePages?(offset: number, data: Buffer): Promise<number>;
  /**
   * Whether the pager holds data for the page already, which
   * memory_object_data_initialize (a page pushed into a delayed copy) then
   * leaves as it is. Optional: without it, initialized pages are written.
   */
  keepsPage?(offset: number): boolean;
  /** pager_unlock_page: make the page writable (allocate, check quota). */
  unlockPage(offset: number): Promise<void>;
  /** pager_report_extent: the valid range, for whole-object sync, flush and return. */
  reportExtent(): { offset: number; size: number };
  /** pager_notify_evict: the kernel dropped its copy of the page (only with notifyOnEvict). */
  notifyEvict?(offset: number): void;
  /** pager_clear_user_data: the last send right is gone; the pager is being freed. */
  clearUserData?(): void;
}
