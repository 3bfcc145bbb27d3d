// photo: shrink a camera photo in a canvas before upload. A phone photo is
// often 3-8 MB; 1600 px JPEG at quality 0.8 is 200-500 KB and still shows
// a hazard clearly.

const maxSide = 1600;
const allowed = ['image/jpeg', 'image/png', 'image/webp'];
const maxBytes = 5 << 20;

/** shrinkPhoto returns a JPEG Blob of at most maxSide pixels a side, or the file itself when it cannot be decoded but is already acceptable. */
export async function shrinkPhoto(file) {
  let bmp;
  try {
    bmp = await createImageBitmap(file, { imageOrientation: 'from-image' });
  } catch {
    if (allowed.includes(file.type) && file.size <= maxBytes) return file;
    throw new Error('unsupported image');
  }
  const scale = Math.min(1, maxSide / Math.max(bmp.width, bmp.height));
  if (scale === 1 && file.type === 'image/jpeg' && file.size <= 800 * 1024) {
    bmp.close();
    return file;
  }
  const w = Math.max(1, Math.round(bmp.width * scale));
  const h = Math.max(1, Math.round(bmp.height * scale));
  const canvas = document.createElement('canvas');
  canvas.width = w;
  canvas.height = h;
  const ctx = canvas.getContext('2d');
  ctx.fillStyle = '#fff'; // PNG transparency becomes white, not black
  ctx.fillRect(0, 0, w, h);
  ctx.drawImage(bmp, 0, 0, w, h);
  bmp.close();
  const blob = await new Promise((res) => canvas.toBlob(res, 'image/jpeg', 0.8));
  if (!blob) throw new Error('could not encode the image');
  return blob;
}

/** blobToDataURL keeps a photo in localStorage while its report waits for the network. */
export function blobToDataURL(blob) {
  return new Promise((resolve, reject) => {
    const r = new FileReader();
    r.onload = () => resolve(r.result);
    r.onerror = () => reject(r.error);
    r.readAsDataURL(blob);
  });
}

export function dataURLToBlob(url) {
  const [head, b64] = url.split(',');
  const type = head.slice(5).split(';')[0];
  const bin = atob(b64);
  const bytes = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
  return new Blob([bytes], { type });
}
